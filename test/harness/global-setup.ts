// Replaced by the real-server harness: starts nothing yet.
export default function setup(): void {}
