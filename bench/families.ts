/**
 * The classic program families of the DPOR literature, re-encoded on the explorer's
 * API, for growing N. Each comes with the number of Mazurkiewicz traces where a closed
 * form is known; otherwise plain DFS and {@linkcode canonicalTrace} count them.
 *
 * - `readers(N)`: one writer and N readers of one variable (Abdulla et al., JACM 2017):
 *   2^N traces.
 * - `lastzero(N)`: thread 0 scans `a[N..0]` for the last zero, thread i sets
 *   `a[i] = a[i−1] + 1` (Abdulla et al. 2014).
 * - `indexer(N)`: N threads insert four entries each into a 128-slot hash table with
 *   compare-and-swap (after Flanagan and Godefroid, POPL 2005). Here entry v hashes to
 *   `11 v mod 128`, distinct for the 4N ≤ 128 entries of every size run, so one trace:
 *   the family measures what a search costs when nothing races.
 * - `filesystem(N)`: N threads allocate an inode and a block under locks (Flanagan and
 *   Godefroid 2005): no contention below N = 14, so one trace.
 * - `increments(N)`: N lock-protected increments of one counter: N! traces (the order of
 *   the critical sections).
 * - `private(N)`: N threads each writing their own variable: 1 trace.
 * - `rwsem(R, W)`: R readers and W writers of one variable under a reader-writer lock.
 * - `philosophers(N)`: N dining philosophers, each taking the left fork then the right
 *   one; one schedule deadlocks.
 *
 * @module
 */

import type { Access, Proc, ProgramFactory, Runtime, StepRequest } from "../explore/mod.ts";

/** A benchmark family: a program for each N, and the closed form if there is one. */
export interface Family {
  readonly name: string;
  readonly program: (n: number) => ProgramFactory;
  /** The number of traces for size n, where a closed form is known. */
  readonly traces?: (n: number) => number | undefined;
  /** The sizes the benchmark runs. */
  readonly sizes: readonly number[];
}

const rd = (obj: string): Access => ({ obj, kind: "read" });
const wr = (obj: string): Access => ({ obj, kind: "write" });

function factorial(n: number): number {
  return n <= 1 ? 1 : n * factorial(n - 1);
}

/** A mutex: `lock` blocks while another thread holds it. */
function mutex(rt: Runtime, name: string) {
  let owner: number | undefined;
  return {
    *lock(): Proc {
      yield {
        label: "lock",
        detail: name,
        accesses: [{ obj: name, kind: "acquire" }],
        enabled: () => owner === undefined,
        waitingFor: () => ({ resource: name, holders: owner === undefined ? [] : [owner] }),
      };
      owner = rt.current;
    },
    *unlock(): Proc {
      yield { label: "unlock", detail: name, accesses: [{ obj: name, kind: "release" }] };
      owner = undefined;
    },
  };
}

const threads = (n: number, body: (i: number) => () => Proc) =>
  Array.from({ length: n }, (_, i) => ({ name: `T${i}`, body: body(i) }));

export const readers: Family = {
  name: "readers",
  sizes: [2, 4, 6, 8, 10, 12],
  traces: (n) => 2 ** n,
  program: (n) => () => ({
    threads: [
      {
        name: "W",
        body: function* (): Proc {
          yield { label: "write", accesses: [wr("x")] };
        },
      },
      ...threads(n, () =>
        function* (): Proc {
          yield { label: "read", accesses: [rd("x")] };
        }),
    ],
  }),
};

export const lastzero: Family = {
  name: "lastzero",
  sizes: [2, 4, 6, 8],
  program: (n) => () => {
    const a = Array(n + 1).fill(0);
    return {
      threads: [
        {
          name: "T0",
          body: function* (): Proc {
            for (let i = n; i >= 0; i--) {
              yield { label: "read", detail: `a[${i}]`, accesses: [rd(`a${i}`)] };
              if (a[i] === 0) break;
            }
          },
        },
        ...threads(n, (i) =>
          function* (): Proc {
            const j = i + 1;
            yield { label: "read", detail: `a[${j - 1}]`, accesses: [rd(`a${j - 1}`)] };
            const seen = a[j - 1];
            yield { label: "write", detail: `a[${j}]`, accesses: [wr(`a${j}`)] };
            a[j] = seen + 1;
          }),
      ],
    };
  },
};

export const indexer: Family = {
  name: "indexer",
  sizes: [4, 8, 16],
  traces: (n) => (4 * n <= 128 ? 1 : undefined),
  program: (n) => () => {
    const table = Array(128).fill(0);
    return {
      threads: threads(n, (tid) =>
        function* (): Proc {
          for (let m = 0; m < 4; m++) {
            const value = 4 * tid + m + 1;
            let w = (value * 11) % 128;
            for (;;) {
              yield { label: "cas", detail: `table[${w}]`, accesses: [wr(`t${w}`)] };
              if (table[w] === 0) {
                table[w] = value;
                break;
              }
              w = (w + 1) % 128;
            }
          }
        }),
    };
  },
};

export const filesystem: Family = {
  name: "filesystem",
  sizes: [4, 8, 13],
  traces: (n) => (n < 14 ? 1 : undefined),
  program: (n) => (rt) => {
    const INODES = 32;
    const BLOCKS = 26;
    const inode = Array(INODES).fill(0);
    const busy = Array(BLOCKS).fill(false);
    const inodeLocks = Array.from({ length: INODES }, (_, i) => mutex(rt, `locki${i}`));
    const blockLocks = Array.from({ length: BLOCKS }, (_, b) => mutex(rt, `lockb${b}`));
    return {
      threads: threads(n, (tid) =>
        function* (): Proc {
          const i = tid % INODES;
          yield* inodeLocks[i].lock();
          yield { label: "read", detail: `inode[${i}]`, accesses: [rd(`inode${i}`)] };
          if (inode[i] === 0) {
            let b = (i * 2) % BLOCKS;
            for (;;) {
              yield* blockLocks[b].lock();
              yield { label: "read", detail: `busy[${b}]`, accesses: [rd(`busy${b}`)] };
              if (!busy[b]) {
                yield { label: "write", detail: `busy[${b}]`, accesses: [wr(`busy${b}`)] };
                busy[b] = true;
                yield { label: "write", detail: `inode[${i}]`, accesses: [wr(`inode${i}`)] };
                inode[i] = b + 1;
                yield* blockLocks[b].unlock();
                break;
              }
              yield* blockLocks[b].unlock();
              b = (b + 1) % BLOCKS;
            }
          }
          yield* inodeLocks[i].unlock();
        }),
    };
  },
};

export const increments: Family = {
  name: "increments",
  sizes: [2, 3, 4, 5, 6, 7],
  traces: factorial,
  program: (n) => (rt) => {
    const lock = mutex(rt, "lock");
    let counter = 0;
    return {
      threads: threads(n, () =>
        function* (): Proc {
          yield* lock.lock();
          yield { label: "read", accesses: [rd("counter")] };
          const seen = counter;
          yield { label: "write", accesses: [wr("counter")] };
          counter = seen + 1;
          yield* lock.unlock();
        }),
    };
  },
};

export const privateWriters: Family = {
  name: "private",
  sizes: [2, 4, 8, 16],
  traces: () => 1,
  program: (n) => () => ({
    threads: threads(n, (i) =>
      function* (): Proc {
        for (let k = 0; k < 3; k++) yield { label: "write", accesses: [wr(`x${i}`)] };
      }),
  }),
};

/** R readers and W writers, as `rwsem(R*10+W)` so the family has one size parameter. */
export const rwsem: Family = {
  name: "rwsem(R,W)",
  sizes: [11, 21, 12, 31, 22, 32],
  program: (rw) => (rt) => {
    const r = Math.floor(rw / 10);
    const w = rw % 10;
    const held: number[] = [];
    let writer: number | undefined;
    const lock = (shared: boolean): StepRequest => ({
      label: shared ? "down_read" : "down_write",
      accesses: [{ obj: "sem", kind: shared ? "acquire-shared" : "acquire" }],
      enabled: () => writer === undefined && (shared || held.length === 0),
      waitingFor: () => ({ resource: "sem", holders: writer === undefined ? held : [writer] }),
    });
    return {
      threads: [
        ...Array.from({ length: r }, (_, i) => ({
          name: `R${i}`,
          body: function* (): Proc {
            yield lock(true);
            held.push(rt.current);
            yield { label: "read", accesses: [rd("x")] };
            yield { label: "up_read", accesses: [{ obj: "sem", kind: "release-shared" }] };
            held.splice(held.indexOf(rt.current), 1);
          },
        })),
        ...Array.from({ length: w }, (_, i) => ({
          name: `W${i}`,
          body: function* (): Proc {
            yield lock(false);
            writer = rt.current;
            yield { label: "write", accesses: [wr("x")] };
            yield { label: "up_write", accesses: [{ obj: "sem", kind: "release" }] };
            writer = undefined;
          },
        })),
      ],
    };
  },
};

export const philosophers: Family = {
  name: "philosophers",
  sizes: [2, 3, 4, 5],
  program: (n) => (rt) => {
    const forks = Array.from({ length: n }, (_, i) => mutex(rt, `fork${i}`));
    return {
      threads: threads(n, (i) =>
        function* (): Proc {
          const left = forks[i];
          const right = forks[(i + 1) % n];
          yield* left.lock();
          yield* right.lock();
          yield { label: "eat", accesses: [] };
          yield* right.unlock();
          yield* left.unlock();
        }),
    };
  },
};

/** Every family, in the order the benchmark prints them. */
export const families: readonly Family[] = [
  readers,
  lastzero,
  indexer,
  filesystem,
  increments,
  privateWriters,
  rwsem,
  philosophers,
];
