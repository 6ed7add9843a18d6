// ProxyFCGISetEnvIf rules: condition, [!]name, value template, as FcgiSetEnvRule
// objects (model.ts). Parsing happens here at config time; the CGI builder calls
// test()/value() per request.

import type { ExpressionContext, FcgiSetEnvRule } from './model.js';
import { parseCondition, testCondition, type Cond } from './expression.js';
import { expandTemplate, parseTemplate, type Template } from './template.js';

export class FcgiSetEnvIfRule implements FcgiSetEnvRule {
  readonly name: string;
  readonly unset: boolean;
  private readonly cond: Cond;
  private readonly tpl: Template;

  /**
   * `ProxyFCGISetEnvIf "cond" NAME "value"`, `… NAME` (set to ''), `… !NAME` (unset).
   * Throws Error with a sentence when the condition or value does not parse.
   */
  constructor(
    readonly source: string,
    nameArg: string,
    valueArg: string | undefined,
  ) {
    this.cond = parseCondition(source);
    this.unset = nameArg.startsWith('!');
    this.name = this.unset ? nameArg.slice(1) : nameArg;
    if (this.name === '') throw new Error('empty variable name');
    if (this.unset && valueArg !== undefined) throw new Error(`!${this.name} takes no value`);
    this.tpl = parseTemplate(valueArg ?? '');
  }

  test(ctx: ExpressionContext): string[] | null {
    return testCondition(this.cond, ctx);
  }

  value(ctx: ExpressionContext, captures: string[]): string {
    return expandTemplate(this.tpl, ctx, captures);
  }
}
