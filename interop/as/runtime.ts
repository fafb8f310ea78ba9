// AssemblyScript runtime entry: asmalloc for memory, AssemblyScript's incremental GC (itcms) kept.
//   asc program.ts --runtime ./interop/as/runtime --importMemory ...
// (the path without .ts). The program then imports env.memory and asmalloc.malloc/realloc/free/
// init; src/interop.ts's instantiateWithHeap links it. The adapter is interop/as/asmalloc.ts.
import "./asmalloc";
import "~lib/rt/itcms";
