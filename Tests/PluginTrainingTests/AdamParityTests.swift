import Autograd
import Tensor
import Testing
import TestSupport

/// `torch.optim.Adam` / `AdamW` alone from given gradients (GradFixture's `adam.*`, written by
/// Scripts/make_plugin_grad_fixtures.py): update rule, bias correction, eps and both weight-decay
/// semantics. float32 in PyTorch's operation order: atol 1e-7, rtol 1e-6 (measured: Adam bit for bit;
/// with L2 decay and AdamW 1 ulp, at most 6e-8, on 4 and 9 of the 185 values).
@Suite("Adam and AdamW match torch.optim")
struct AdamParityTests {
    @Test("five steps of Adam, Adam with L2 decay and AdamW, gradients from 1e-9 to 1 and one exactly zero",
          arguments: [("adam", Adam.Options(lr: 1e-3)),
                      ("adam_l2", Adam.Options(lr: 1e-2, weightDecay: 0.1)),
                      ("adamw", Adam.Options(lr: 1e-2, weightDecay: 0.1, decoupledWeightDecay: true))])
    func adam(name: String, options: Adam.Options) throws {
        let f = try GradFixture()
        let p = Variable(try f.tensor("adam.param0"), requiresGrad: true)
        let grads = try f.tensor("adam.grads"), expected = try f.tensor("adam.\(name)")
        let n = p.value.count
        let adam = Adam([p], options: options)
        for s in 0..<grads.shape[0] {
            p.zeroGrad()
            p.backward(seed: grads.slice(axis: 0, s..<(s + 1)).reshaped([n]))
            adam.update()
            let r = compare(p.value, expected.slice(axis: 0, s..<(s + 1)).reshaped([n]), atol: 1e-7, rtol: 1e-6)
            #expect(r.passed, "\(name) step \(s + 1): \(r)")
        }
    }

    @Test("a parameter without a gradient is left alone, as PyTorch skips p.grad is None")
    func skipsMissingGradients() {
        let a = Variable(Tensor(shape: [2], storage: [1, 2]), requiresGrad: true)
        let b = Variable(Tensor(shape: [2], storage: [3, 4]), requiresGrad: true)
        let adam = Adam([a, b])
        a.backward(seed: Tensor(shape: [2], storage: [1, -1]))
        adam.update()
        #expect(b.value.storage == [3, 4])
        // Step 1 of Adam moves each element by lr against its gradient's sign (m̂/√v̂ = ±1).
        #expect(abs(a.value.storage[0] - (1 - 1e-3)) < 1e-6 && abs(a.value.storage[1] - (2 + 1e-3)) < 1e-6)
    }
}
