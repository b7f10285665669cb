package io.panastor.api.client;

import io.panastor.api.grpc.DaemonFixture;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A test of client commands against an engine on 127.0.0.1 that each test gets fresh. */
abstract class EngineCliTest {
    @TempDir
    Path state;
    DaemonFixture f;
    /** {@code --engine}'s value for it. */
    String engine;

    @BeforeEach
    void startEngine() {
        f = new DaemonFixture(state, false);
        engine = f.engineAddress();
    }

    @AfterEach
    void stopEngine() throws InterruptedException {
        f.close();
    }
}
