"""Projects as the operator sees and steers them: `views` reads, `steering` acts through the pipeline."""
