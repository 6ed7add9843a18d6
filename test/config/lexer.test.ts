// Lexer: logical lines, continuations, comments, quoting, section nesting and its errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTree, splitWords, type DirectiveNode, type SectionNode } from '../../src/config/lexer.js';
import { ConfigError } from '../../src/config/config-error.js';

const fails = (text: string, message: string): void => {
  assert.throws(
    () => parseTree(text, 'fcgate.conf'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, message);
      return true;
    },
  );
};

test('words: blanks, double and single quotes, escaped quote, backslashes kept', () => {
  assert.deepEqual(splitWords('ProxyPass  /a/\tfcgi://h/', 'f', 1), ['ProxyPass', '/a/', 'fcgi://h/']);
  assert.deepEqual(splitWords('X "a b" \'c d\' "e\\"f" "\\.php$"', 'f', 1), ['X', 'a b', 'c d', 'e"f', '\\.php$']);
  assert.deepEqual(splitWords('X "" y', 'f', 1), ['X', '', 'y']);
  assert.deepEqual(splitWords('X "a"b', 'f', 1), ['X', 'a', 'b']);
});

test('comments only at line start; a # elsewhere is text (as Apache)', () => {
  const nodes = parseTree('# comment\n   # indented comment\n\nSetEnv A #b\n', 'f');
  assert.equal(nodes.length, 1);
  assert.deepEqual((nodes[0] as DirectiveNode).args, ['A', '#b']);
  assert.equal(nodes[0]!.line, 4);
});

test('continuation lines join, keep the first line number, CRLF accepted', () => {
  const nodes = parseTree('Listen 1\r\nProxyPass /a/ \\\r\n   fcgi://h:1/ \\\n  max=3\nListen 2\n', 'f');
  assert.equal(nodes.length, 3);
  const pp = nodes[1] as DirectiveNode;
  assert.deepEqual([pp.name, pp.args, pp.line], ['ProxyPass', ['/a/', 'fcgi://h:1/', 'max=3'], 2]);
  assert.equal(nodes[2]!.line, 5);
});

test('sections nest, names compare case-insensitively', () => {
  const nodes = parseTree(
    '<Directory "/srv">\n <FilesMatch "\\.php$">\n  SetHandler x\n </filesmatch>\n</DIRECTORY>\n',
    'f',
  );
  const d = nodes[0] as SectionNode;
  assert.equal(d.name, 'Directory');
  assert.deepEqual(d.args, ['/srv']);
  const f = d.children[0] as SectionNode;
  assert.deepEqual([f.name, f.args, f.line], ['FilesMatch', ['\\.php$'], 2]);
  assert.equal((f.children[0] as DirectiveNode).name, 'SetHandler');
});

test('section errors: unclosed, mismatched close, stray close, missing >', () => {
  fails('<Proxy balancer://x/>\n BalancerMember fcgi://h:1\n', 'fcgate.conf:1: <Proxy> was not closed');
  fails('<Directory /a>\n</Location>\n', 'fcgate.conf:2: expected </Directory> (opened on line 1) but saw </Location>');
  fails('Listen 1\n</Proxy>\n', 'fcgate.conf:2: </Proxy> without matching <Proxy> section');
  fails('<Directory /a\n</Directory>\n', "fcgate.conf:1: <Directory>: missing closing '>'");
  fails('SetEnv A "b\n', 'fcgate.conf:1: unterminated quoted argument: "b');
});
