"""A brand's LoRA: api (StartLoraTraining, GetLora, SetLoraApproval; the jobs service) and training
(the lora_training job type; a work horse)."""
