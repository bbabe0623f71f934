/**
 * A terminal progress bar on stderr (only when stderr is a TTY; otherwise occasional plain lines), so stdout
 * stays clean for --json output.
 */
export class ProgressBar {
  private lastDraw = 0;
  private lastPlain = 0;
  private readonly start = Date.now();
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = stream.isTTY === true;
  }

  update(done: number, total: number, unit: string, message = ''): void {
    const now = Date.now();
    const elapsed = (now - this.start) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (total - done) / rate : 0;
    const text = `${done}/${total} ${unit}  ${rate.toFixed(rate < 10 ? 2 : 0)} ${unit}/s  eta ${eta.toFixed(0)}s${message ? `  ${message}` : ''}`;
    if (this.tty) {
      if (now - this.lastDraw < 80 && done < total) return;
      this.lastDraw = now;
      const width = 24;
      const filled = total > 0 ? Math.round((done / total) * width) : 0;
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      this.stream.write(`\r\x1b[2K${this.label} ${bar} ${text}`);
    } else if (now - this.lastPlain > 5000 || done === total) {
      this.lastPlain = now;
      this.stream.write(`${this.label} ${text}\n`);
    }
  }

  finish(): void {
    if (this.tty) this.stream.write('\n');
  }
}
