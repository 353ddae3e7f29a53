/**
 * Where the command line writes: stdout for results, stderr for progress and errors,
 * and the clock and terminal facts progress needs. Commands take an {@linkcode Io}
 * instead of touching `Deno.stdout`, so tests can run them in-process and read what
 * they wrote.
 *
 * @module
 */

/** The outside world, as far as a command sees it. */
export interface Io {
  /** Writes to stdout (results). */
  out(text: string): void;
  /** Writes to stderr (progress, errors). */
  err(text: string): void;
  /** Whether stderr is a terminal: live `\r` progress there, plain lines otherwise. */
  readonly errIsTerminal: boolean;
  /** Width of the terminal, if known. */
  columns(): number | undefined;
  /**
   * Width of the terminal stdout writes to; undefined when stdout is not a terminal (a
   * pipe, a file), where traces are printed whole.
   */
  outColumns(): number | undefined;
  /** Milliseconds, for rates and elapsed times. */
  now(): number;
}

/** Writes all of `text` to `file`; after a broken pipe (`| head`), writes nothing more. */
function syncWriter(file: { writeSync(p: Uint8Array): number }): (text: string) => void {
  const encoder = new TextEncoder();
  let broken = false;
  return (text) => {
    if (broken) return;
    let bytes = encoder.encode(text);
    try {
      while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
    } catch (e) {
      if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
      broken = true;
    }
  };
}

/** The terminal's width, if Deno can tell. */
function consoleColumns(): number | undefined {
  try {
    const { columns } = Deno.consoleSize();
    return columns > 0 ? columns : undefined;
  } catch {
    return undefined;
  }
}

/** The process's own stdout, stderr and clock. */
export function denoIo(): Io {
  const errIsTerminal = Deno.stderr.isTerminal();
  const outIsTerminal = Deno.stdout.isTerminal();
  return {
    out: syncWriter(Deno.stdout),
    err: syncWriter(Deno.stderr),
    errIsTerminal,
    columns: () => errIsTerminal ? consoleColumns() : undefined,
    outColumns: () => outIsTerminal ? consoleColumns() : undefined,
    now: () => performance.now(),
  };
}

/** An {@linkcode Io} that keeps what is written, for tests. */
export interface MemoryIo extends Io {
  stdout(): string;
  stderr(): string;
}

/** Options of {@linkcode memoryIo}. */
export interface MemoryIoOptions {
  /** Pretend stderr is a terminal. Default false. */
  readonly terminal?: boolean;
  readonly columns?: number;
  /** Pretend stdout is a terminal this wide. Default: not a terminal. */
  readonly outColumns?: number;
  /** The clock; default `performance.now`. */
  readonly now?: () => number;
}

/** An {@linkcode Io} that records stdout and stderr in memory. */
export function memoryIo(options: MemoryIoOptions = {}): MemoryIo {
  let out = "";
  let err = "";
  return {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    errIsTerminal: options.terminal ?? false,
    columns: () => options.columns,
    outColumns: () => options.outColumns,
    now: options.now ?? (() => performance.now()),
    stdout: () => out,
    stderr: () => err,
  };
}
