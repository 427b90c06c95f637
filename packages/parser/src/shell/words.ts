import { isSpace } from './chars.ts';

/**
 * Splits expanded text into words the way BuildKit's `ProcessWords` does: text that came from
 * the word itself or from a variable splits on (Go) whitespace, while quoted text, escaped
 * characters and the `<<` heredoc marker are glued to the current word as they are.
 */
export class WordSplitter {
  private readonly words: string[] = [];
  private buf = '';
  private inWord = false;

  /** Unquoted text: whitespace ends the current word and is dropped. */
  addText(text: string): void {
    let segStart = 0;
    for (let i = 0; i < text.length; i++) {
      // Every Go space is in the BMP, so code units are enough; surrogates are never spaces.
      if (!isSpace(text.charCodeAt(i))) continue;
      if (i > segStart) this.addRaw(text.slice(segStart, i));
      // BuildKit only ends a word that has text: `""` marks a word started but adds nothing.
      if (this.inWord && this.buf.length > 0) {
        this.words.push(this.buf);
        this.buf = '';
        this.inWord = false;
      }
      segStart = i + 1;
    }
    if (segStart < text.length) this.addRaw(text.slice(segStart));
  }

  /** Quoted or escaped text: kept whole, whitespace included. */
  addRaw(text: string): void {
    this.buf += text;
    this.inWord = true;
  }

  /** The finished list of words. */
  finish(): string[] {
    if (this.buf.length > 0) {
      this.words.push(this.buf);
      this.buf = '';
      this.inWord = false;
    }
    return this.words;
  }
}
