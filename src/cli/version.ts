/** The version Shardgate reports (`--version`, the API's `meta.version`). */
export const VERSION = '0.1.0';
