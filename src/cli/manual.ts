// The man pages and the bash completion, made from the text each command prints for --help. That
// text is printed from the declarations in src/config/ (flagHelp, keyHelp), so a page, the
// completion and --help cannot disagree: there is one source, and this file only re-typesets it.
//
// The help texts share one layout, which is what is read here: a `usage:` line (and indented
// continuations), prose at column 0, headings at column 0 that end with a colon, indented blocks
// (tables, examples), and option lines as flagHelp prints them: `  -h, --help   this text`.

/** One command as its --help describes it. */
export interface CommandHelp {
  readonly name: string;
  /** The one line `tapyard --help` gives it. */
  readonly about: string;
  readonly help: string;
}

/** One option line of a help text: `--name` (and `-x`), its value's shape if it takes one. */
export interface HelpOption {
  readonly name: string;
  readonly short: string | null;
  /** e.g. SPEC, FILE, warn|stop; null for a flag without a value. */
  readonly shape: string | null;
  readonly help: string;
}

const OPTION_LINE = /^ {2}(?:-([A-Za-z]), )?--([a-z][a-z0-9-]*)(?: (\S+))?(?: +(.*))?$/;

/** A value's shape is upper case or a list of choices (`warn|stop`); the first word of help is neither. */
function isShape(word: string): boolean {
  return /[A-Z|]/.test(word) && !/^[A-Z][a-z]/.test(word);
}

/** The option lines of a help text, in order, each name once. */
export function helpOptions(help: string): HelpOption[] {
  const seen = new Set<string>();
  const options: HelpOption[] = [];
  for (const line of help.split('\n')) {
    const m = OPTION_LINE.exec(line);
    if (m === null) continue;
    const [, short, name, word, rest] = m;
    const shape = word !== undefined && isShape(word) ? word : null;
    // A flag without a value has its help after the padding: `--switch bridge[,...]` alone is a heading.
    if (shape === null && !/ {2,}/.test(line.trimStart())) continue;
    if (name === undefined || seen.has(name)) continue;
    seen.add(name);
    const text = shape === null ? [word, rest].filter((s) => s !== undefined).join(' ') : (rest ?? '');
    options.push({ name, short: short ?? null, shape, help: text.trim() });
  }
  return options;
}

/** The sub-commands a usage line names (`tapyard trace macvlan ...`, `tapyard trace bridge ...`). */
export function helpSubcommands(command: string, help: string): string[] {
  const words = new Set<string>();
  const usage = new RegExp(`^(?:usage:)?\\s+tapyard ${command} ([a-z][a-z0-9-]*)\\b`);
  for (const line of help.split('\n')) {
    const word = usage.exec(line)?.[1];
    if (word !== undefined) words.add(word);
  }
  return [...words];
}

/** groff source text: a backslash is \e, a minus is \- (ASCII on the terminal), a leading . or ' is kept. */
function roff(text: string): string {
  const escaped = text.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

interface Block {
  readonly kind: 'usage' | 'heading' | 'prose' | 'indented';
  readonly lines: string[];
}

/** Cut a help text into its blocks. */
function blocks(help: string): Block[] {
  const out: Block[] = [];
  let current: Block | null = null;
  for (const line of help.split('\n')) {
    if (line.trim() === '') {
      current = null;
      continue;
    }
    let kind: Block['kind'];
    if (line.startsWith('usage:') || (current?.kind === 'usage' && line.startsWith(' '))) kind = 'usage';
    else if (line.startsWith(' ')) kind = 'indented';
    // A heading starts a block: a colon at the end of a paragraph's inner line is prose.
    else if (line.endsWith(':') && (current === null || current.kind === 'heading')) kind = 'heading';
    else kind = 'prose';
    if (current === null || current.kind !== kind || kind === 'heading') {
      current = { kind, lines: [] };
      out.push(current);
    }
    current.lines.push(line);
  }
  return out;
}

/** A heading of the help text as a section of the page. */
function section(heading: string): string {
  const text = heading.slice(0, -1);
  if (/^options$/i.test(text)) return '.SH OPTIONS';
  if (/^examples?\b/i.test(text)) {
    const note = /\((.*)\)$/.exec(text)?.[1];
    return note === undefined ? '.SH EXAMPLES' : `.SH EXAMPLES\n${roff(note.charAt(0).toUpperCase() + note.slice(1))}.`;
  }
  return `.SS ${roff(text)}`;
}

/** An indented block: option lines as tagged paragraphs, anything else kept as it is laid out. */
function indented(lines: readonly string[]): string[] {
  const out: string[] = [];
  let verbatim: string[] = [];
  const flush = () => {
    if (verbatim.length > 0) out.push('.PP', '.nf', ...verbatim.map(roff), '.fi');
    verbatim = [];
  };
  let lastOption = false;
  for (const line of lines) {
    const option = helpOptions(line)[0];
    if (option !== undefined) {
      flush();
      const names = `${option.short === null ? '' : `\\fB\\-${option.short}\\fR, `}\\fB${roff(`--${option.name}`)}\\fR`;
      out.push('.TP', option.shape === null ? names : `${names} \\fI${roff(option.shape)}\\fR`, roff(option.help));
      lastOption = true;
    } else if (lastOption && /^ {10,}\S/.test(line)) {
      // The second line of an option's help, aligned under the first.
      out.push(roff(line.trim()));
    } else {
      lastOption = false;
      verbatim.push(line);
    }
  }
  flush();
  return out;
}

/** The man page of one command (or of tapyard itself when name is 'tapyard'), in groff's man macros. */
export function manPage(command: CommandHelp, version: string): string {
  const title = command.name === 'tapyard' ? 'tapyard' : `tapyard-${command.name}`;
  const out = [
    `.\\" Generated from \`${title.replace('-', ' ')} --help\` by src/cli/manual.ts.`,
    `.TH ${title.toUpperCase()} 1 "" "tapyard ${version}" "tapyard"`,
    '.SH NAME',
    `${roff(title)} \\- ${roff(command.about)}`,
  ];
  let described = false;
  for (const block of blocks(command.help)) {
    if (block.kind === 'usage') {
      out.push('.SH SYNOPSIS', '.nf', ...block.lines.map((l) => roff(l.replace(/^usage: /, '').trimStart())), '.fi');
    } else if (block.kind === 'heading') {
      // A heading block holds its one line (blocks() starts a new one for each).
      const heading = section(block.lines.join(' '));
      out.push(heading);
      described ||= heading.startsWith('.SH');
    } else if (block.kind === 'prose') {
      const text = block.lines.join(' ');
      if (text.startsWith('Exit status:')) {
        out.push('.SH "EXIT STATUS"', roff(text.slice('Exit status:'.length).trim()));
        continue;
      }
      if (!described) {
        out.push('.SH DESCRIPTION');
        described = true;
      } else out.push('.PP');
      out.push(roff(text));
    } else out.push(...indented(block.lines));
  }
  return `${out.join('\n')}\n`;
}

/** The page of tapyard itself, with every command's page under SEE ALSO. */
export function mainPage(top: CommandHelp, commands: readonly CommandHelp[], version: string): string {
  const seeAlso = commands.map((c) => `.BR tapyard\\-${roff(c.name)} (1)${c === commands.at(-1) ? '' : ','}`);
  return `${manPage(top, version)}.SH "SEE ALSO"\n${seeAlso.join('\n')}\n`;
}

/** A bash word list, each word safe inside the double quotes of compgen -W. */
function wordList(words: readonly string[]): string {
  return words.filter((w) => /^[A-Za-z0-9_.:+=,-]+$/.test(w)).join(' ');
}

/** What bash offers after `--name` when it takes a value: its choices, file names, or nothing. */
function valueCompletion(shape: string): string {
  if (shape.includes('|')) return `COMPREPLY=($(compgen -W "${wordList(shape.split('|'))}" -- "$cur"))`;
  if (/^(FILE|DIR|PATH)$/.test(shape)) return 'COMPREPLY=($(compgen -f -- "$cur"))';
  return 'COMPREPLY=()';
}

/** The bash completion of tapyard and its commands. */
export function bashCompletion(top: CommandHelp, commands: readonly CommandHelp[]): string {
  const names = commands.map((c) => c.name);
  const topWords = [...names, 'help', ...helpOptions(top.help).map((o) => `--${o.name}`), '--help'];
  const cases = commands.map((c) => {
    const options = helpOptions(c.help);
    const values = options.flatMap((o) =>
      o.shape === null ? [] : [`        --${o.name}) ${valueCompletion(o.shape)}; return ;;`],
    );
    const subcommands = helpSubcommands(c.name, c.help);
    const first =
      subcommands.length === 0
        ? ''
        : `      if [ "$COMP_CWORD" -eq 2 ]; then\n` +
          `        COMPREPLY=($(compgen -W "${wordList(subcommands)}" -- "$cur")); return\n      fi\n`;
    const flags = wordList(
      options.flatMap((o) => (o.short === null ? [`--${o.name}`] : [`--${o.name}`, `-${o.short}`])),
    );
    return [
      `    ${c.name})`,
      `${first}      case "$prev" in`,
      ...values,
      '      esac',
      `      COMPREPLY=($(compgen -W "${flags}" -- "$cur")) ;;`,
    ].join('\n');
  });
  return `# bash completion for tapyard, generated from each command's --help by src/cli/manual.ts.
_tapyard() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${wordList(topWords)}" -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
    help) [ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "${wordList(names)}" -- "$cur")) ;;
${cases.join('\n')}
  esac
}
complete -F _tapyard tapyard
`;
}
