// Text from the user, put back into a message: quoted, control characters escaped, cut short.
// A name of 10 000 characters or one with an escape sequence must not take over the terminal.

const MAX = 64;

export function quote(text: string): string {
  const cut = text.length > MAX ? `${text.slice(0, MAX)}…` : text;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it escapes
  const safe = cut.replace(/[\u0000-\u001f\u007f\\']/g, (c) =>
    c === '\\' || c === "'" ? `\\${c}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return `'${safe}'`;
}
