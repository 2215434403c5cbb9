// The two things the runtime needs from LLVM's C++ API that its C API lacks:
// reading a function's body out of a lazily loaded bitcode module
// (`LLVMGetBitcodeModuleInContext2`) when the trace builder first needs it,
// and reading all of them (for tools that walk every body). Loading the
// interpreter's embedded module lazily means the first trace pays for the
// functions it touches, not for parsing the whole interpreter.
//
// Each returns 0 on success, or 1 with `*err` set to a message that the
// caller frees with LLVMDisposeMessage.

#include <llvm-c/Core.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>

#include <cstring>
#include <string>

static int report(llvm::Error e, char **err) {
  if (!e)
    return 0;
  std::string msg = llvm::toString(std::move(e));
  *err = LLVMCreateMessage(msg.c_str());
  return 1;
}

extern "C" int yk_llvm_materialize_function(LLVMValueRef f, char **err) {
  llvm::Function *fn = llvm::unwrap<llvm::Function>(f);
  if (!fn->isMaterializable())
    return 0;
  // Module-level metadata (the compile units debug info refers to) first.
  if (int r = report(fn->getParent()->materializeMetadata(), err))
    return r;
  return report(fn->materialize(), err);
}

extern "C" int yk_llvm_materialize_all(LLVMModuleRef m, char **err) {
  return report(llvm::unwrap(m)->materializeAll(), err);
}
