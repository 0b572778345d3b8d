"""The training and validation steps as captured CUDA graphs.

On a GPU a minibatch of a few hundred cells is bound by kernel launches, not arithmetic: the
step's couple of hundred small kernels each take longer to launch from Python than to run
(docs/measurements.md, "On a GPU").  :class:`GraphStep` captures forward, backward, gradient clipping and
Adam's update once, for full minibatches, and replays them; the minibatch is gathered inside
the graph from the matrix already on the GPU (:func:`~cellvae.model.batches.on_device`).

The warm-up that capture needs is undone (weights, buffers, optimiser state and the CUDA RNG),
and a replay draws the same random numbers as the eager step would, so the fit follows the
eager trajectory from the same state.  The trainer runs a short last minibatch eagerly.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
import torch

_WARMUP = 3  # eager steps on a side stream before capture (lazy library set-up happens there)


@contextlib.contextmanager
def deterministic(device: torch.device):
    """Deterministic kernels on CUDA for the block (atomics would reorder sums run to run).

    Parameters
    ----------
    device
        The training device; on anything but CUDA the block runs unchanged.

    Yields
    ------
    None
    """
    if device.type != "cuda":
        yield
        return
    before, warn = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn)


def _snapshot(module, opt) -> tuple[dict, dict]:
    weights = {k: v.clone() for k, v in module.state_dict().items()}
    state = {id(p): {k: v.clone() for k, v in s.items() if torch.is_tensor(v)} for p, s in opt.state.items()}
    return weights, state


@torch.no_grad()
def _restore(module, opt, saved: tuple[dict, dict]) -> None:
    """Copy the snapshot back in place (the graphs hold these tensors' addresses)."""
    weights, state = saved
    for k, v in module.state_dict().items():
        v.copy_(weights[k])
    for p, s in opt.state.items():
        old = state.get(id(p))  # None: Adam's state was created by the warm-up, so it starts at 0
        for k, v in s.items():
            if torch.is_tensor(v):
                v.copy_(old[k]) if old is not None else v.zero_()


class GraphStep:
    """Replays one training step (and one validation forward) of ``size`` cells from CUDA graphs.

    Parameters
    ----------
    module
        The VAE, on the GPU.
    opt
        Its Adam, with ``capturable=True`` in every parameter group (:func:`graph_step` sets it).
    x
        The whole cells x genes matrix as a dense tensor on the GPU.
    b
        ``(n,)`` batch codes on the GPU, or None.
    size
        Cells per minibatch; only minibatches of exactly this size are replayed.
    grad_clip
        Max global gradient norm (0: no clipping), as in the eager step.
    eval_beta
        KL weight of the validation objective.
    """

    def __init__(self, module, opt, x, b, *, size: int, grad_clip: float, eval_beta: float):
        dev = x.device
        self.module, self.opt, self.x, self.b, self.size, self.clip = module, opt, x, b, size, grad_clip
        self.idx = torch.arange(size, device=dev) % x.shape[0]  # rows of the next minibatch
        self.beta = torch.zeros((), device=dev)                 # KL weight of this epoch's training
        self.eval_beta = torch.full((), float(eval_beta), device=dev)
        self.acc = torch.zeros(4, dtype=torch.float64, device=dev)  # summed loss x n, elbo, recon, kl
        self.scale = torch.tensor([size, 1.0, 1.0, 1.0], dtype=torch.float64, device=dev)
        saved, rng = _snapshot(module, opt), torch.cuda.get_rng_state(dev)
        side = torch.cuda.Stream(dev)  # on the training device, which need not be the current one
        try:
            with torch.cuda.device(dev):
                side.wait_stream(torch.cuda.current_stream(dev))
                with torch.cuda.stream(side):
                    module.train()
                    for _ in range(_WARMUP):
                        opt.zero_grad(set_to_none=True)
                        self._train_body()
                    module.eval()
                    self._eval_body()
                torch.cuda.current_stream(dev).wait_stream(side)
                self.train_graph, self.eval_graph = torch.cuda.CUDAGraph(), torch.cuda.CUDAGraph()
                module.train()
                opt.zero_grad(set_to_none=True)
                with torch.cuda.graph(self.train_graph, stream=side):
                    self._train_body()
                module.eval()
                with torch.cuda.graph(self.eval_graph, stream=side):
                    self._eval_body()
        finally:
            torch.cuda.synchronize(dev)  # the warm-up's updates land before they are undone
            module.train()
            _restore(module, opt, saved)
            torch.cuda.set_rng_state(rng, dev)

    def _gather(self):
        return self.x.index_select(0, self.idx), None if self.b is None else self.b.index_select(0, self.idx)

    def _add(self, out) -> None:
        self.acc.add_(out.sums().double() * self.scale)  # as the eager loop sums them

    def _train_body(self) -> None:
        out = self.module(*self._gather(), beta=self.beta)
        self._add(out)
        out.loss.backward()
        if self.clip > 0:
            torch.nn.utils.clip_grad_norm_(self.module.parameters(), self.clip)
        self.opt.step()

    @torch.no_grad()
    def _eval_body(self) -> None:
        self._add(self.module(*self._gather(), beta=self.eval_beta))

    def run(self, sels: list[np.ndarray], *, train: bool, beta: float) -> tuple[list[float], list]:
        """Replay the step for every minibatch in ``sels`` of ``size`` cells, in order.

        Parameters
        ----------
        sels
            Row indices of each minibatch, in the order the eager loop would take them.
        train
            Replay the training step (at KL weight ``beta``); else the validation forward,
            which uses ``eval_beta``.
        beta
            KL weight of this epoch's training step.

        Returns
        -------
        sums, rest
            Summed loss x cells, ELBO, reconstruction and KL over the replayed minibatches
            (one device sync), and the minibatches left for the eager step, in order.

        Raises
        ------
        FloatingPointError
            With the largest value of the replayed minibatches, when a replayed loss was NaN or
            inf.  Unlike the eager step, which stops before updating on a non-finite loss, the
            replays run to the end of the epoch, so the weights are then non-finite too.
        """
        full = [s for s in sels if len(s) == self.size]
        dev = self.x.device
        rows = torch.from_numpy(np.concatenate(full or [np.zeros(0)]).astype(np.int64)).to(dev)
        with torch.cuda.device(dev):
            self.acc.zero_()
            self.beta.fill_(beta)
            graph = self.train_graph if train else self.eval_graph
            for i in range(len(full)):
                self.idx.copy_(rows[i * self.size:(i + 1) * self.size])
                graph.replay()
            sums = self.acc.tolist()
        if not math.isfinite(sums[0]):
            raise FloatingPointError(float(self.x.index_select(0, rows).max()))
        return sums, [s for s in sels if len(s) != self.size]


def graph_step(module, opt, x, b, *, size: int, grad_clip: float, eval_beta: float, n_train: int,
               enabled: bool) -> GraphStep | None:
    """A :class:`GraphStep` when ``enabled`` and ``x`` is on a CUDA device, else None.

    Parameters
    ----------
    module, opt, x, b, size, grad_clip, eval_beta
        As for :class:`GraphStep`.
    n_train
        Training cells; with fewer than ``size`` no minibatch is full, and nothing is captured.
    enabled
        ``TrainConfig.cuda_graph``.

    Returns
    -------
    GraphStep or None
        None when not ``enabled``, on a CPU, with the matrix left on the host, when fewer than
        ``size`` cells train, or when capture fails (with a warning; the eager step then runs).
    """
    if not (enabled and isinstance(x, torch.Tensor) and x.is_cuda and n_train >= size):
        return None
    for group in opt.param_groups:  # step() may run inside a capture (Adam's state stays on the GPU)
        group["capturable"] = True
    stream = torch.cuda.current_stream(x.device)
    try:
        return GraphStep(module, opt, x, b, size=size, grad_clip=grad_clip, eval_beta=eval_beta)
    except RuntimeError as exc:  # an op that cannot be captured: fall back to the eager step
        torch.cuda.set_stream(stream)  # a failed capture can leave its stream current
        warnings.warn(f"CUDA graph capture failed, training eagerly: {exc}", stacklevel=3)
        return None
