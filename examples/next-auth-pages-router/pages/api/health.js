// Liveness for kube-probe and the like (and the tests' readiness check); no auth.
export default function health(req, res) {
    res.status(200).json({ status: 'ok' });
}
