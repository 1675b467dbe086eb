// A native module as node-gyp builds it: binding.gyp and C source of an addon whose abi() reports
// the NODE_MODULE_VERSION of the headers it was compiled against (build/Release/abi.node).

/** The module's files, under `dir` (the app's root when empty). */
export function abiModule(dir = ''): Record<string, string> {
  const at = (name: string) => (dir ? `${dir}/${name}` : name);
  return {
    [at('binding.gyp')]: JSON.stringify({ targets: [{ target_name: 'abi', sources: ['abi.c'] }] }),
    [at('abi.c')]: `#include <node_api.h>
#include <node_version.h>
static napi_value Abi(napi_env env, napi_callback_info info) {
  napi_value v;
  napi_create_int32(env, NODE_MODULE_VERSION, &v);
  return v;
}
NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "abi", NAPI_AUTO_LENGTH, Abi, NULL, &fn);
  napi_set_named_property(env, exports, "abi", fn);
  return exports;
}
`,
  };
}
