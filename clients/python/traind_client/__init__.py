"""traind_client — a client for the traind daemon's v1 HTTP API (standard library only).

    from traind_client import Client
    c = Client("http://127.0.0.1:8080")
    ds = c.create_dataset("xor", inputs=[[0, 0], [0, 1], [1, 0], [1, 1]],
                          targets=[[0], [1], [1], [0]])
    m = c.create_model({"name": "xor-net", "inputs": 2, "loss": "mse", "layers": [
        {"type": "dense", "units": 8, "activation": "tanh"},
        {"type": "dense", "units": 1, "activation": "sigmoid"}]})
    job = c.wait(c.create_job(m["id"], ds["id"], epochs=500, batch_size=4)["id"])
    c.predict(m["id"], [[0, 1]])["outputs"]
"""
from .client import Client, TraindError, FINAL_STATES

__all__ = ["Client", "TraindError", "FINAL_STATES"]
