/** Keeps the last lines of a process's output, for the error shown when it fails. */
export class OutputTail {
  private readonly kept: string[] = [];
  private partial = '';

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    const parts = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = parts.pop() ?? '';
    this.kept.push(...parts);
    if (this.kept.length > this.max) this.kept.splice(0, this.kept.length - this.max);
  }

  lines(): string[] {
    return this.partial ? [...this.kept, this.partial].slice(-this.max) : [...this.kept];
  }
}
