// A Stryker ignorer: no mutants inside logging calls (`log.info(…)`, `deps.log.warn(…)`,
// `logger().warn(…)`). What a log line says is for people, not a decision; mutating its text and
// fields only adds survivors that no behaviour test should pin. The decisions around the call are still mutated.
import { declareValuePlugin, PluginKind } from "@stryker-mutator/api/plugin";

const LEVELS = new Set(["trace", "debug", "info", "warn", "error", "fatal"]);

/**
 * `log`, `<anything>.log`, or a call of `logger()` / `<anything>.logger()`: the pino logger as the
 * decision code names it (src/log.ts hands out the process logger through `logger()`).
 */
function isLogger(node) {
  if (node.type === "Identifier") return node.name === "log";
  if (node.type === "MemberExpression")
    return node.property.type === "Identifier" && node.property.name === "log";
  if (node.type === "CallExpression" && node.arguments.length === 0) {
    const f = node.callee;
    if (f.type === "Identifier") return f.name === "logger";
    return f.type === "MemberExpression" && f.property.type === "Identifier" && f.property.name === "logger";
  }
  return false;
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, "logging", {
    shouldIgnore(path) {
      if (!path.isExpressionStatement()) return undefined;
      const call = path.node.expression;
      if (call.type !== "CallExpression" || call.callee.type !== "MemberExpression") return undefined;
      const { object, property } = call.callee;
      if (property.type === "Identifier" && LEVELS.has(property.name) && isLogger(object))
        return "a logging call: its text is for people, not a decision";
      return undefined;
    },
  }),
];
