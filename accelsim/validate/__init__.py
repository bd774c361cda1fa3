"""``accelsim validate``: the C++ kernels against the golden model, random cases, bit for bit.

``cases`` draws and checks one case (every ISA, both golden lowerings of a transposed convolution);
``runner`` runs many (chunked random streams, formats interleaved, worker processes, a time bound,
progress) and returns the summary.
"""
from accelsim.validate.cases import FORMATS, INT_FORMATS, LOWERINGS, CaseResult, check_case, random_spec, run_case
from accelsim.validate.runner import CHUNK, FormatResult, default_jobs, validate

__all__ = ["CHUNK", "FORMATS", "INT_FORMATS", "LOWERINGS", "CaseResult", "FormatResult", "check_case", "default_jobs",
           "random_spec", "run_case", "validate"]
