package org.regularize4j.optim;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.schedule.ScheduleType;
import org.nd4j.linalg.schedule.StepSchedule;
import org.regularize4j.testutil.SingleThreadedNd4j;

import java.io.File;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Models saved before the optimizers moved from {@code org.regularize4j.penalty} to {@code org.regularize4j.optim}
 * still load. The two zips under {@code src/test/resources/org/regularize4j/optim} were written by main at
 * 943ba2a, whose JSON names {@code org.regularize4j.penalty.TorchSgd} and {@code ...penalty.TorchAdam}: a ResNet-8
 * (width 0.25, 1x8x8 input, 3 classes) with {@code TorchSgd(StepSchedule(EPOCH, 0.1, 0.1, 30), 0.9, nesterov)},
 * and a two-layer graph whose hidden layer has {@code TorchAdam(1e-2, 0.8, 0.99, 1e-7)} and whose output layer has
 * {@code TorchSgd(0.05, 0.9, false)}; each trained two steps, saved with its updater state, and holding its input,
 * labels and output as ModelSerializer objects.
 */
@ExtendWith(SingleThreadedNd4j.class)
class LegacyClassNamesTest {

    static File resource(String name) throws URISyntaxException {
        return new File(LegacyClassNamesTest.class.getResource(name).toURI());
    }

    static String json(File zip) throws Exception {
        try (ZipFile z = new ZipFile(zip)) {
            return new String(z.getInputStream(z.getEntry("configuration.json")).readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static BaseLayer layer(ComputationGraph net, String name) {
        return (BaseLayer) ((LayerVertex) net.getConfiguration().getVertices().get(name)).getLayerConf().getLayer();
    }

    /** Loads the zip, checks its output against the saved one, and that training continues from the saved state. */
    static ComputationGraph loadAndCheck(File zip) throws Exception {
        assertTrue(json(zip).contains("\"org.regularize4j.penalty.Torch"), "the resource names the old classes");
        ComputationGraph net = ModelSerializer.restoreComputationGraph(zip, true);
        INDArray x = ModelSerializer.getObjectFromFile(zip, "input");
        INDArray y = ModelSerializer.getObjectFromFile(zip, "labels");
        INDArray expected = ModelSerializer.getObjectFromFile(zip, "output");
        // to float rounding: the output was saved on the fast path, and the NCHW path (-Pportable) sums in another order
        assertArrayEquals(expected.dup('c').data().asFloat(), net.outputSingle(false, x).dup('c').data().asFloat(), 1e-5f);
        assertEquals(2, net.getConfiguration().getIterationCount());
        INDArray state = net.getUpdater().getStateViewArray();
        assertTrue(state.amaxNumber().doubleValue() > 0, "the saved updater state was restored");

        INDArray before = net.params().dup();
        net.fit(new DataSet(x, y));
        assertNotEquals(before, net.params());
        return net;
    }

    @Test
    void resnetWithTorchSgdSavedUnderTheOldNameLoads(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        File zip = resource("resnet8-torchsgd-penalty-package.zip");
        ComputationGraph net = loadAndCheck(zip);
        TorchSgd expected = new TorchSgd(new StepSchedule(ScheduleType.EPOCH, 0.1, 0.1, 30), 0.9, true);
        for (String name : new String[] {"stem", "stage1.block1", "stage3.block1", "fc"}) {
            assertEquals(expected, layer(net, name).getIUpdater(), name);
        }

        // saved again, it names the new class only
        File again = dir.resolve("again.zip").toFile();
        ModelSerializer.writeModel(net, again, true);
        String json = json(again);
        assertTrue(json.contains("\"org.regularize4j.optim.TorchSgd\""));
        assertFalse(json.contains("org.regularize4j.penalty.Torch"));
        assertEquals(net.getConfiguration(), ModelSerializer.restoreComputationGraph(again, true).getConfiguration());
    }

    @Test
    void graphWithTorchAdamAndTorchSgdSavedUnderTheOldNamesLoads() throws Exception {
        ComputationGraph net = loadAndCheck(resource("graph-torchadam-penalty-package.zip"));
        assertEquals(new TorchAdam(1e-2, 0.8, 0.99, 1e-7), layer(net, "hidden").getIUpdater());
        assertEquals(new TorchSgd(0.05, 0.9, false), layer(net, "out").getIUpdater());
    }

    @Test
    void oldNamesInAConfigurationJson() throws Exception {
        String old = json(resource("graph-torchadam-penalty-package.zip"));
        ComputationGraphConfiguration conf = ComputationGraphConfiguration.fromJson(old);
        assertEquals(TorchAdam.class, ((BaseLayer) ((LayerVertex) conf.getVertices().get("hidden")).getLayerConf()
                .getLayer()).getIUpdater().getClass());
        String rewritten = conf.toJson();
        assertEquals(conf, ComputationGraphConfiguration.fromJson(rewritten));
    }
}
