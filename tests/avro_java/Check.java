// Avro Java's verdict on reader/writer pairs: for every CASE directory given, reads
// CASE/reader/schema.avsc and CASE/writer/schema.avsc and prints "CASE COMPATIBLE" or "CASE INCOMPATIBLE".
// Run as a single-file program: java -cp 'target/lib/*' Check.java DIR...
import java.io.File;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

public class Check {
  public static void main(String[] args) throws Exception {
    for (String dir : args) {
      Schema reader = new Schema.Parser().parse(new File(dir, "reader/schema.avsc"));
      Schema writer = new Schema.Parser().parse(new File(dir, "writer/schema.avsc"));
      SchemaCompatibility.SchemaPairCompatibility result =
          SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
      System.out.println(new File(dir).getName() + " " + result.getType());
    }
  }
}
