/** Runs the CLI (cli/gim.mjs) as a child process with its own credentials file, with timeouts. */
import { spawn, type ChildProcess } from "node:child_process";

const CLI = new URL("../../cli/gim.mjs", import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class Cli {
  constructor(
    readonly env: Record<string, string>,
  ) {}

  /**
   * Runs a command to its end (or kills it after `timeoutMs` and fails). `readAfterMs` leaves its
   * output unread that long, as a slow reader would (the pipe fills and its writes queue up).
   */
  run(args: string[], input?: string, timeoutMs = 30_000, readAfterMs = 0): Promise<CliResult> {
    const child = this.#spawn(args);
    const out = collect(child);
    if (readAfterMs > 0) {
      child.stdout?.pause();
      setTimeout(() => child.stdout?.resume(), readAfterMs);
    }
    child.stdin?.end(input ?? "");
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`gim ${args.join(" ")} did not finish in ${timeoutMs} ms; stderr: ${out.stderr}`));
      }, timeoutMs);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout: out.stdout, stderr: out.stderr });
      });
    });
  }

  /** Starts a long-running command (listen, chat, room). */
  start(args: string[]): LongRun {
    return new LongRun(this.#spawn(args), args);
  }

  #spawn(args: string[]): ChildProcess {
    return spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...this.env }, stdio: ["pipe", "pipe", "pipe"] });
  }
}

function collect(child: ChildProcess): { stdout: string; stderr: string } {
  const out = { stdout: "", stderr: "" };
  child.stdout?.on("data", (d: Buffer) => (out.stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out.stderr += d.toString()));
  return out;
}

export class LongRun {
  readonly #out: { stdout: string; stderr: string };
  readonly #exit: Promise<number | null>;

  constructor(
    readonly child: ChildProcess,
    readonly args: string[],
  ) {
    this.#out = collect(child);
    this.#exit = new Promise((resolve) => child.on("close", (code) => resolve(code)));
  }

  get stdout(): string {
    return this.#out.stdout;
  }

  get stderr(): string {
    return this.#out.stderr;
  }

  /** JSON lines printed on stdout so far. */
  records(): Record<string, unknown>[] {
    return this.stdout
      .split("\n")
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Waits until stderr or stdout contains `text`. */
  async waitFor(text: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.stdout.includes(text) && !this.stderr.includes(text)) {
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`gim ${this.args.join(" ")}: no "${text}" within ${timeoutMs} ms; stdout: ${this.stdout}; stderr: ${this.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Ends it (SIGINT, or end of stdin for chat and room) and resolves the exit code. */
  async stop(how: "SIGINT" | "eof" = "SIGINT", timeoutMs = 10_000): Promise<number | null> {
    if (how === "eof") {
      this.child.stdin?.end();
    } else {
      this.child.kill("SIGINT");
    }
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    const code = await this.#exit;
    clearTimeout(timer);
    return code;
  }
}
