/**
 * A progress bar on stderr: redrawn in place on a terminal, one line every few seconds otherwise (logs, CI).
 */
export class ProgressBar {
  private lastLine = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(private readonly label: string) {}

  update(done: number, total: number, note = ''): void {
    const fraction = total > 0 ? Math.min(1, done / total) : 0;
    const width = 30;
    const filled = Math.round(fraction * width);
    const line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${done.toLocaleString('en')}/${total.toLocaleString('en')} ${note}`;
    if (this.tty) process.stderr.write(`\r${line}\x1b[K`);
    else if (Date.now() - this.lastLine > 2_000 || fraction === 1) {
      process.stderr.write(`${line}\n`);
      this.lastLine = Date.now();
    }
  }

  finish(): void {
    if (this.tty) process.stderr.write('\n');
  }
}
