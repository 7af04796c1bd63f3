// A strict-enough XML well-formedness check for the report's SVG files, written by hand so
// the test does not lean on the same assumptions as the code that wrote them: one root
// element, tags properly nested and closed, attributes quoted and unique, only the five
// predefined entities or numeric references, no stray '<' or '&' in text.

const NAME = /^[A-Za-z_:][-A-Za-z0-9_.:]*$/;
const ENTITY = /^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;

function checkText(text: string, at: number): string | null {
  for (let i = text.indexOf('&'); i !== -1; i = text.indexOf('&', i + 1))
    if (!ENTITY.test(text.slice(i))) return `bad entity or bare '&' at ${at + i}`;
  return text.includes('>') && text.includes(']]>') ? `']]>' in text at ${at}` : null;
}

function checkAttributes(src: string, at: number): string | null {
  const re = /\s+([^\s=/>]+)\s*=\s*("([^"]*)"|'([^']*)')/y;
  const seen = new Set<string>();
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) return null;
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) return `malformed attribute near ${at + pos}: ${src.slice(pos, pos + 30)}`;
    if (!NAME.test(m[1]!)) return `bad attribute name '${m[1]}'`;
    if (seen.has(m[1]!)) return `duplicate attribute '${m[1]}'`;
    seen.add(m[1]!);
    const value = m[3] ?? m[4] ?? '';
    if (value.includes('<')) return `'<' in attribute '${m[1]}'`;
    const bad = checkText(value, at + pos);
    if (bad) return bad;
    pos = re.lastIndex;
  }
  return null;
}

/** Problems that make `xml` not well-formed; empty when it is. Returns the root's name too. */
export function xmlProblems(xml: string): { problems: string[]; root: string | null } {
  const problems: string[] = [];
  const stack: string[] = [];
  let root: string | null = null;
  let rootClosed = false;
  let i = xml.startsWith('<?xml') ? xml.indexOf('?>') + 2 : 0;
  while (i < xml.length && problems.length === 0) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    if (text.trim() && stack.length === 0) problems.push(`text outside the root element at ${i}`);
    const badText = checkText(text, i);
    if (badText) problems.push(badText);
    if (text.includes('>')) problems.push(`bare '>' in text at ${i}`);
    if (lt === -1) break;
    if (xml.startsWith('<!--', lt)) {
      const end = xml.indexOf('-->', lt + 4);
      if (end === -1) problems.push('unclosed comment');
      i = end + 3;
      continue;
    }
    const gt = xml.indexOf('>', lt);
    if (gt === -1) {
      problems.push(`unclosed tag at ${lt}`);
      break;
    }
    const tag = xml.slice(lt + 1, gt);
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}> at ${lt}`);
      if (stack.length === 0) rootClosed = true;
    } else {
      const selfClosing = tag.endsWith('/');
      const body = selfClosing ? tag.slice(0, -1) : tag;
      const name = /^[^\s/>]+/.exec(body)?.[0] ?? '';
      if (!NAME.test(name)) problems.push(`bad tag name '${name}' at ${lt}`);
      const attrProblem = checkAttributes(body.slice(name.length), lt);
      if (attrProblem) problems.push(attrProblem);
      if (stack.length === 0) {
        if (root !== null) problems.push(`a second root element <${name}> at ${lt}`);
        root = name;
      }
      if (!selfClosing) stack.push(name);
      else if (stack.length === 0) rootClosed = true;
    }
    i = gt + 1;
  }
  if (problems.length === 0 && stack.length) problems.push(`unclosed <${stack[stack.length - 1]}>`);
  if (problems.length === 0 && (!root || !rootClosed)) problems.push('no root element');
  return { problems, root };
}
