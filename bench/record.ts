// `asmalloc trace -- cmd …`: records a program's allocation trace with valgrind.
export class RecordError extends Error {}
export async function recordTrace(_cmd: string[], _out: string | undefined, _log: (s: string) => void): Promise<void> {
  throw new RecordError("not implemented yet");
}
