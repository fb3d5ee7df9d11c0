// An import problem that names where it is: the file, and the line or sample when known.
export class DataError extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
    readonly where?: string, // "line 3", "sample 'utt7'"
  ) {
    super(`${file}${where ? `, ${where}` : ''}: ${detail}`);
    this.name = 'DataError';
  }
}
