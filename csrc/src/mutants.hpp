// Test-only mutants of the kernels' arithmetic (issue 13 item 6): tests/test_mutants.py builds the
// extension once with -DACCELSIM_MUTANTS into a temp dir, selects one mutant at a time with
// set_mutant(n) and asserts `accelsim validate` reports mismatches for every one. A normal build
// compiles them out: ACCELSIM_MUTANT(n) is the constant false and the compiler drops the mutated arm.
//
//   1  integer requant, rounding divide by 2^shift: ties toward +inf instead of away from zero
//   2  integer requant, doubling high multiply: ties toward zero (nudge 2^30 - 1) instead of +inf
//   3  requant saturation: the upper clamp at qmax - 1
//   4  requant output zero point subtracted instead of added
//   5  XNOR-popcount: each valid tap counts cin_g + 1 matches (popcount offset)
//   6  torch requant: round half away from zero (std::round) instead of half to even
//   7  flexpoint output shift: round half up instead of half to even
//   8  integer conv: the activation zero point added instead of subtracted (x + z_x)
#pragma once

#ifdef ACCELSIM_MUTANTS
namespace accelsim {
extern int g_mutant;  // defined in core.cpp; 0 = none
}
#define ACCELSIM_MUTANT(n) (::accelsim::g_mutant == (n))
#else
#define ACCELSIM_MUTANT(n) false
#endif
