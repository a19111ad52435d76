// RTS's objective and optimiser step in Swift, as Scripts/stable_sam/train.py computes them.
import Autograd
import SegmentAnything
import Tensor

/// Scripts/stable_sam/train.py `bce_dice` on the decoder's low-res logits (`multimask_output=False`):
/// BCE with logits, mean over every element, plus soft Dice (smoothing 1) averaged over the batch
/// rows; a step's loss is the mean of its samples' losses.
public enum RTSLoss {
    /// logits, target `[1, 1, 4h, 4w]` (target 0/1) -> (bce + dice, bce, dice), each `[1]`.
    public static func bceDice(_ logits: Variable, target: Tensor) -> (loss: Variable, bce: Variable, dice: Variable) {
        precondition(logits.shape == target.shape, "bce_dice: logits \(logits.shape) target \(target.shape)")
        let bce = Variable.binaryCrossEntropyWithLogits(logits, target: target)
        let dice = Variable.diceLoss(logits, target: target)
        return (bce + dice, bce, dice)
    }
}

/// One training sample in the decoder's frame: an image embedding, a prompt's embeddings and the
/// low-res target mask.
public struct PluginTrainingSample {
    /// [1, C, h, w]
    public var imageEmbedding: Tensor
    /// [1, n, C] and [1, C, h, w]: the prompt encoder's outputs for this sample's prompt.
    public var sparse: Tensor
    public var dense: Tensor
    /// [1, 1, 4h, 4w], 0 or 1.
    public var target: Tensor

    public init(imageEmbedding: Tensor, sparse: Tensor, dense: Tensor, target: Tensor) {
        self.imageEmbedding = imageEmbedding
        self.sparse = sparse
        self.dense = dense
        self.target = target
    }
}

extension PluginTrainingSample {
    /// A training prompt (original-image pixels, positive points) as the decoder sees it: its
    /// coordinates moved into the model's input frame as `Predictor` moves them, then the prompt
    /// encoder, with no mask input (train.py's `prompt_embeddings`).
    public init(sam: Sam, imageEmbedding: Tensor, originalSize: (h: Int, w: Int), prompt: TrainingPrompt, target: Tensor) {
        let transform = ResizeLongestSide(targetLength: sam.config.imgSize)
        let points = prompt.points.map { p -> PromptPoint in
            let (x, y) = transform.applyCoords(x: p.x, y: p.y, originalSize: originalSize)
            return PromptPoint(x: x, y: y, label: 1)
        }
        let box = prompt.box.map { transform.applyBox($0, originalSize: originalSize) }
        let pe = sam.promptEncoder
        self.init(imageEmbedding: imageEmbedding, sparse: pe.sparseEmbeddings(points: points, box: box),
                  dense: pe.denseEmbeddings(mask: nil), target: target)
    }
}

/// train.py's inner loop: per step, the mean BCE + Dice over the batch's samples, `zero_grad`,
/// `backward`, Adam (lr 1e-3, PyTorch's defaults otherwise). SAM stays frozen; only the plugin's
/// parameters move, and `writeBack()` copies them into the plugin.
public final class PluginTrainer {
    public struct Step: Sendable {
        public var loss: Float, bce: Float, dice: Float
        /// Mean route weights (a1, a2) over the batch.
        public var route: (Float, Float)
    }

    public let model: DifferentiableMaskDecoder
    public let optimizer: Adam
    public let imagePE: Tensor

    public init(sam: Sam, plugin: StableSAMPlugin, options: Adam.Options = Adam.Options()) {
        model = DifferentiableMaskDecoder(sam: sam, plugin: plugin)
        optimizer = Adam(model.parameters.variables, options: options)
        imagePE = sam.promptEncoder.densePositionalEncoding()
    }

    /// The batch's loss with gradients accumulated into the parameters (no update).
    @discardableResult
    public func lossAndGradients(_ batch: [PluginTrainingSample]) -> Step {
        precondition(!batch.isEmpty, "an empty batch")
        optimizer.zeroGrad()
        var losses: [Variable] = [], bces: [Float] = [], dices: [Float] = [], a1: Float = 0, a2: Float = 0
        for s in batch {
            let out = model(imageEmbedding: s.imageEmbedding, imagePE: imagePE, sparse: s.sparse, dense: s.dense, maskTokens: 0..<1)
            let (loss, bce, dice) = RTSLoss.bceDice(out.masks, target: s.target)
            losses.append(loss)
            bces.append(bce.value.storage[0])
            dices.append(dice.value.storage[0])
            a1 += out.route.value.storage[0]
            a2 += out.route.value.storage[1]
        }
        let n = Float(batch.count)
        let total = Variable.sum(losses).scaled(by: 1 / n)   // torch.stack(losses).mean()
        total.backward()
        return Step(loss: total.value.storage[0], bce: bces.reduce(0, +) / n, dice: dices.reduce(0, +) / n,
                    route: (a1 / n, a2 / n))
    }

    /// One optimiser step on `batch`; returns the loss before the update.
    @discardableResult
    public func step(_ batch: [PluginTrainingSample]) -> Step {
        let record = lossAndGradients(batch)
        optimizer.update()
        return record
    }

    /// Copies the trained weights into the plugin (`model.plugin`).
    public func writeBack() { model.parameters.write(to: model.plugin) }
}
