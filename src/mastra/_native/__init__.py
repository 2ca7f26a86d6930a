"""Compiled extension modules. Private: use the public faces in mastra.vector, mastra.cache,
mastra.sse and mastra.native_info()."""
