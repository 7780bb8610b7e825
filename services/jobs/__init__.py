"""jobs: generation jobs and LoRA models; the API side (gRPC) and the RQ workers that run the work."""
