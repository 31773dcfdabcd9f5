// Shardgate's layering rule. Every file under src/ belongs to a layer; a file may import only from
// its own layer or a lower one: core (0) < ports (1) < adapters (2) < roles, sim, dashboard (3) < cli (4).
// src/core may import nothing outside src/core: no packages, no node:* modules.
import path from 'node:path';

const RANKS = { core: 0, ports: 1, adapters: 2, roles: 3, sim: 3, dashboard: 3, testing: 3, cli: 4 };

function layerOf(file) {
  const parts = path.normalize(file).split(path.sep);
  const at = parts.lastIndexOf('src');
  if (at < 0) return undefined;
  const layer = parts[at + 1];
  return layer in RANKS ? layer : undefined;
}

/** @type {import('eslint').Rule.RuleModule} */
export default {
  meta: {
    type: 'problem',
    docs: { description: 'imports point one way: cli → roles → adapters → ports → core; core is pure' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const from = layerOf(file);
    if (from === undefined) return {};
    function check(node, source) {
      if (typeof source !== 'string') return;
      const relative = source.startsWith('.');
      if (!relative) {
        if (from === 'core') {
          context.report({ node, message: `src/core is pure and may not import '${source}' (only files in src/core)` });
        }
        return;
      }
      const target = layerOf(path.resolve(path.dirname(file), source));
      if (target === undefined) {
        context.report({ node, message: `'${source}' points outside src/` });
        return;
      }
      if (from === 'core' && target !== 'core') {
        context.report({ node, message: `src/core may import only src/core, not src/${target}` });
      } else if (RANKS[target] > RANKS[from]) {
        context.report({ node, message: `src/${from} may not import src/${target}: imports point cli → roles → adapters → ports → core` });
      } else if (RANKS[target] === RANKS[from] && target !== from && from !== 'cli') {
        context.report({ node, message: `src/${from} may not import its sibling layer src/${target}` });
      }
    }
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};
