// gpt2_ids.js: prints GPT-2's own token ids (npm package gpt-3-encoder) for a fixed set of test
// texts, in the format of tests/ref/gpt2_ids.txt. Usage: node tests/ref/gpt2_ids.js [NODE_MODULES]
// Needs nothing but node and that package (default place: build/npm/node_modules).
'use strict';
const path = require('path');
const modules = process.argv[2] || path.join(__dirname, '..', '..', 'build', 'npm', 'node_modules');
const enc = require(path.join(path.resolve(modules), 'gpt-3-encoder'));

// Texts avoid U+0085, U+FEFF and U+001C..U+001F, the characters where JavaScript's \s differs
// from the Unicode White_Space property that GPT-2's Python encoder uses.
const texts = [
  "Hello world",
  "I'm sure you'll see it's what they've done, isn't it? We'd go. She'LL DON'T",
  "rock 'n' roll ''quoted'' 'sup '",
  "In 1984, 3.14159 and 1,000,000 people paid $42.50 for 2x4s; ٣٤٥ and ½ too.",
  "spaces:  two,   three,    four at the end    ",
  "\ttab\t\tdouble tab\n\nnewlines\r\nCRLF \n mixed \t\n",
  "   leading spaces and a trailing newline\n",
  "café naïve résumé Ångström Œuvre São Paulo Zürich",
  "cafe\u0301 with a combining accent, e\u0308 too",
  "日本語のテキストと中文字符，还有한국어 텍스트。",
  "Emoji: 😀 🎉🎉 👍🏽 and 🇫🇷 flags",
  "Family 👨‍👩‍👧‍👦 and 👩🏾‍💻 ZWJ sequences",
  "non-breaking\u00a0space, em\u2003space, ideographic\u3000space",
  "Code: for (int i = 0; i < n; i++) { x[i] += 2; } // done",
  "URL https://example.com/path?q=1&r=two#frag and e-mail a.b@c.org",
  "ALL CAPS TEXT and MiXeD cAsE wOrDs",
  "Ελληνικά και Русский текст, עברית, العربية",
  "!!!??? ... --- *** ~~~",
  "a",
  " ",
  "",
];

for (const t of texts) {
  const ids = enc.encode(t);
  // round trip through the package's own decoder, so that a broken install is noticed
  if (enc.decode(ids) !== t) {
    process.stderr.write('gpt2_ids: decode does not give back ' + JSON.stringify(t) + '\n');
    process.exit(1);
  }
  process.stdout.write('text ' + JSON.stringify(t) + '\n');
  process.stdout.write('ids' + ids.map((x) => ' ' + x).join('') + '\n');
}
