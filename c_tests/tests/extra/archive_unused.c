// An archive member nothing refers to: the linker must leave it out, so its missing symbol
// must not matter.

extern long symbol_that_does_not_exist(void);

long archived_unused(void) { return symbol_that_does_not_exist(); }
