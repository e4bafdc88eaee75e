// Liveness for kube-probe and the like; no auth.
export default function health(req, res) {
  res.status(200).json({ status: 'ok' });
}
