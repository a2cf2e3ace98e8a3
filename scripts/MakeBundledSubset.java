import org.regularize4j.data.FashionMnist;

import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Makes the Fashion-MNIST subset bundled in the jar (src/main/resources/org/regularize4j/data/fashion-mnist):
 * the first 1,000 training images of each class and the first 200 test images of each class, in the order of
 * the original files. Run from the project directory after `mvn -q -B package -DskipTests`:
 *
 *   java -cp "target/classes:target/lib/*" scripts/MakeBundledSubset.java [/usr/share/datasets/fashion-mnist]
 *
 * FashionMnistTest checks that the bundled files equal what this makes from the installed data set.
 */
public class MakeBundledSubset {
    public static void main(String[] args) throws Exception {
        Path source = args.length > 0 ? Paths.get(args[0]) : FashionMnist.INSTALLED_DIR;
        Path target = Paths.get("src/main/resources/org/regularize4j/data/fashion-mnist");
        FashionMnist.fromDirectory(source, FashionMnist.Split.TRAIN).firstPerClass(1000).writeIdx(target);
        FashionMnist.fromDirectory(source, FashionMnist.Split.TEST).firstPerClass(200).writeIdx(target);
        System.out.println("wrote " + target);
    }
}
