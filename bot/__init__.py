"""citebot's front ends: answer assembly, renderers, the CLI and the Slack app."""
