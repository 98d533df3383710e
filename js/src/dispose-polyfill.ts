/**
 * `Symbol.asyncDispose` for runtimes that lack it (Node 18 before 18.18, Node 20 before 20.4), so clients can
 * define `[Symbol.asyncDispose]` and work with `await using`. Imported by every module that defines one.
 */
(Symbol as { asyncDispose?: symbol }).asyncDispose ??= Symbol.for("Symbol.asyncDispose");

export {};
