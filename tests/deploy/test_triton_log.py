"""The served models leave no Python traceback in the server's log: an exception the Python backend prints and
swallows (a DLPack capsule's destructor, for one) still costs a log write per tensor under load."""

from __future__ import annotations

from encexport.check.tolerances import tolerance
from encexport.gpu_check.loadgen import Judge, passed, run_load
from serving_common import BASE
from test_triton_load import _requests


def test_answers_leave_no_traceback_in_the_server_log(server, reference):
    ref, batch = reference
    tol = tolerance("fp32", "sentence_embedding")
    result = run_load("127.0.0.1", server.http_port, f"{BASE}_py", _requests(batch),
                      Judge(ref, tol.atol, tol.rtol, tol.min_cosine), output="sentence_embedding", clients=2,
                      seconds=2, processes=1, timeout=60)
    assert passed(result, clients=2), result
    logs = server.logs()
    assert "Traceback" not in logs, logs[logs.index("Traceback") - 200:][:1500]
