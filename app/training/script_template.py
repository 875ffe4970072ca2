"""The fixed text of a generated train script: its docstring and its training loop.

`script.py` fills the placeholders with code written by the registries' code writers.
"""

HEADER = '''\
"""Training script exported by TorchCanvas.

Data: source {source!r}; loss, optimizer and schedule as in the project.
Run:  python train.py
  or: torchrun --nproc_per_node N train.py   (DistributedDataParallel)
Saves the trained weights to model.pt (load them with build_model().load_state_dict).
"""
'''

TRAINING = '''

def output_of(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def main():
    from {model_module} import build_model  # the exported model file, next to this script

    distributed = "WORLD_SIZE" in os.environ
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    else:
        rank, world, local_rank = 0, 1, 0
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    main_process = rank == 0

    train_set, val_set = load_data()
    torch.manual_seed(SEED)  # same seed -> the same initial weights in every process
    model = {model}.to(device)
    net = DistributedDataParallel(model, device_ids=[local_rank] if device.type == "cuda"
                                  else None) if distributed else model
    sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=SHUFFLE,
                                 seed=SEED)
    train_loader = DataLoader(train_set, batch_size=BATCH_SIZE, sampler=sampler,
                              drop_last=DROP_LAST, num_workers=NUM_WORKERS)
    val_loader = DataLoader(val_set, batch_size=max(BATCH_SIZE, 256),
                            num_workers=NUM_WORKERS) if val_set is not None else None

    criterion = {loss}.to(device)
    optimizer = {optimizer}
    {scheduler}l1_params = [p for p in model.parameters() if p.requires_grad and p.dim() > 1]

    for epoch in range(1, EPOCHS + 1):
        sampler.set_epoch(epoch)
        net.train()
        total = torch.zeros(2, dtype=torch.float64, device=device)  # loss sum, samples
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            out = output_of(net(x))
            loss = {loss_call}
            if L1:
                loss = loss + L1 * sum(p.abs().sum() for p in l1_params)
            loss.backward()
            if CLIP == "norm":
                nn.utils.clip_grad_norm_(model.parameters(), CLIP_VALUE, CLIP_NORM_TYPE)
            elif CLIP == "value":
                nn.utils.clip_grad_value_(model.parameters(), CLIP_VALUE)
            optimizer.step()
{batch_step}            total += torch.tensor([loss.item() * len(y), len(y)], device=device)
        if distributed:
            dist.all_reduce(total)
        train_loss = (total[0] / total[1]).item()
        val_loss, val_metric = evaluate(model, val_loader, criterion, device)
{epoch_step}        if main_process:
            line = f"epoch {{epoch}}/{{EPOCHS}}  train_loss {{train_loss:.4f}}"
            if val_loss is not None:
                name = "val_mse" if REGRESSION else "val_accuracy"
                line += f"  val_loss {{val_loss:.4f}}  {{name}} {{val_metric:.4f}}"
            print(line, flush=True)

    if main_process:
        torch.save(model.state_dict(), "model.pt")  # the unwrapped module's weights
        print("saved model.pt", flush=True)
    if distributed:
        dist.destroy_process_group()


def evaluate(model, loader, criterion, device):
    """Validation loss and accuracy (MSE for regression); every process computes it."""
    if loader is None:
        return None, None
    model.eval()
    loss_sum, metric_sum, count = 0.0, 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = output_of(model(x))
            loss_sum += {loss_call}.item() * len(y)
            if REGRESSION:
                metric_sum += ((out - y) ** 2).mean().item() * len(y)
            elif THRESHOLD is not None:
                metric_sum += ((out.reshape(-1) > THRESHOLD).long() == y).sum().item()
            else:
                metric_sum += (out.argmax(1) == y).sum().item()
            count += len(y)
    model.train()
    return loss_sum / count, metric_sum / count


if __name__ == "__main__":
    main()'''
