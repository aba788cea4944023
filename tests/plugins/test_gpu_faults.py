"""The GPU grid's checks can fail: flash, reference and hopper, broken on purpose, must fail the grid on every fault.

libencexport_faults_cuda.so is the kernel library compiled with ENCEXPORT_FAULT_INJECTION behind the same test entry
point as libencexport_testapi.so; the GPU check builds it (ENCEXPORT_FAULT_INJECTION_CUDA=ON). Every flash,
reference and hopper (where built) case of the kernel grid (tests/support/kernel_grid.py) runs with no fault and with each fault, judged by
tests/support/tolerance.py exactly as tests/plugins/test_gpu_kernels.py judges it. The table goes next to the GPU
check's results (fault_injection_gpu.md), or to build/fault_injection/.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import faults  # noqa: E402
from kernel_grid import GRID, case_id, case_inputs, run_kernel  # noqa: E402
from tolerance import judge  # noqa: E402

pytestmark = pytest.mark.gpu

FAMILIES = ("flash", "reference") + (("hopper",) if any(c["backend"] == "hopper" for c in GRID) else ())


@pytest.fixture(scope="module")
def outcomes(testapi, cuda) -> dict[tuple[str, str], faults.Outcome]:
    path = faults.library_path("cuda")
    if not path.is_file():
        pytest.fail(f"{path} not built: build with ENCEXPORT_FAULT_INJECTION_CUDA=ON encexport build-plugins "
                    "(the GPU check's build step does)")
    lib = testapi.bind(faults.load("cuda"))
    verdicts = {(family, name): {} for family in FAMILIES for name in faults.FAULTS}
    for c in (c for c in GRID if c["backend"] in FAMILIES):
        q, k, v, ref = case_inputs(c, cuda)
        for name, fault in faults.FAULTS.items():
            with faults.injected(lib, fault):
                out, used = run_kernel(c, q, k, v, testapi, cuda, library=lib)
            assert used == c["backend"], f"{case_id(c)}: the fault library ran {used}"
            verdicts[(c["backend"], name)][case_id(c)] = judge(out, ref, c["lens"], c["dtype"])
        del q, k, v, ref
    result = {key: faults.summarise(key[0], key[1], v) for key, v in verdicts.items()}
    path = faults.write_table("fault_injection_gpu", list(result.values()),
                              ", ".join(FAMILIES) + " on the GPU grid (tests/plugins/test_gpu_faults.py)")
    print(f"fault-injection table: {path}")
    return result


@pytest.mark.parametrize("family", FAMILIES)
def test_grid_passes_without_a_fault(family, outcomes):
    o = outcomes[(family, "none")]
    assert not o.grid_failed, f"{family}: {o.failed_cases} cases fail with no fault: {o.checks}, worst {o.worst_case}"


@pytest.mark.parametrize("fault", [name for name in faults.FAULTS if name != "none"])
@pytest.mark.parametrize("family", FAMILIES)
def test_grid_fails_on_the_fault(family, fault, outcomes):
    o = outcomes[(family, fault)]
    assert o.grid_failed, (f"the grid passed {family} with '{fault}': its checks cannot see it (closest case "
                           f"{o.worst_case}: error {o.worst_error:.3g} vs bound {o.worst_bound:.3g})")
