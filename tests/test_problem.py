"""Tests for lrbook.problem: the preconditioner is an exact change of variables (weights and
gradients map both ways), and preparing a problem copies no data."""
import numpy as np

from lrbook import model, problem, solver

from conftest import offcentre_problem as _problem


def test_solver_re_exports_the_problem():
    assert solver.prepare is problem.prepare and solver.Problem is problem.Problem


def test_rotation_round_trip():
    X, y = _problem()
    pb = problem.prepare(X, y, n_classes=3)
    W = np.random.default_rng(1).normal(size=pb.shape)
    np.testing.assert_allclose(pb.to_original(pb.from_original(W)), W, atol=1e-12)
    # same logits from both coordinates: X @ W == Xr @ Wr
    np.testing.assert_allclose(pb.Xr @ pb.from_original(W), X @ W, atol=1e-10)


def test_gradient_is_rotated_by_the_chain_rule():
    """The solver's coordinates: d loss(to_original(Wr)) / d Wr == grad_to_rotated(grad)."""
    from lrbook.gradcheck import numerical_grad, relative_error
    X, y = _problem(n=80, d=4)
    Y = model.one_hot(y, 3)
    pb = problem.prepare(X, y, n_classes=3)
    Wr = np.random.default_rng(3).normal(size=pb.shape)
    fd = numerical_grad(lambda V: model.cross_entropy(pb.to_original(V), X, Y, 0.1), Wr)
    g = pb.grad_to_rotated(model.cross_entropy_grad(pb.to_original(Wr), X, Y, 0.1))
    assert relative_error(g, fd) < 1e-7


def test_prepare_makes_no_rotated_copy_of_x():
    X, y = _problem(n=2000, d=20, dtype=np.float32)
    pb = problem.prepare(X, y, n_classes=3)
    assert pb.X is X
    solver.solve(pb, l2=1e-3, tol=1e-6)
    assert "Xr" not in vars(pb)                      # the lazy rotated copy was never built
