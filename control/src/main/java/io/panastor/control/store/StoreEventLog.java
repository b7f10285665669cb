package io.panastor.control.store;

import io.panastor.api.control.v1.Event;
import java.io.IOException;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The events of each object in a store key of its own ({@code events/KIND.NAME}), the last
 * {@link #KEPT} of them; an event like the one before it (same reason and message) counts
 * again rather than taking a place, as Kubernetes aggregates its events.
 */
public final class StoreEventLog implements EventLog {
    private static final Logger LOG = LoggerFactory.getLogger(StoreEventLog.class);
    private final Store store;
    private final InstantSource clock;

    StoreEventLog(Store store) {
        this(store, InstantSource.system());
    }

    public StoreEventLog(Store store, InstantSource clock) {
        this.store = store;
        this.clock = clock;
    }

    private static String key(String kind, String name) {
        return "events/" + kind + "." + name;
    }

    @Override
    public synchronized void record(String kind, String name, boolean warning, String reason, String message) {
        try {
            io.panastor.api.control.v1.EventLog.Builder log = read(kind, name).toBuilder();
            int last = log.getEventsCount() - 1;
            String type = warning ? "Warning" : "Normal";
            if (last >= 0 && log.getEvents(last).getReason().equals(reason)
                    && log.getEvents(last).getMessage().equals(message) && log.getEvents(last).getType().equals(type)) {
                Event e = log.getEvents(last);
                log.setEvents(last, e.toBuilder().setCount(e.getCount() + 1).setTimeMs(clock.millis()));
            } else {
                log.addEvents(Event.newBuilder().setTimeMs(clock.millis()).setType(type).setReason(reason)
                        .setMessage(message).setCount(1));
                while (log.getEventsCount() > KEPT) {
                    log.removeEvents(0);
                }
            }
            store.put(key(kind, name), log.build().toByteArray());
        } catch (IOException | RuntimeException e) {
            LOG.warn("event {} of {} {} not recorded: {}", reason, kind, name, e.toString());
        }
    }

    private io.panastor.api.control.v1.EventLog read(String kind, String name) throws IOException {
        Optional<byte[]> b = store.get(key(kind, name));
        return b.isEmpty() ? io.panastor.api.control.v1.EventLog.getDefaultInstance()
                : io.panastor.api.control.v1.EventLog.parseFrom(b.get());
    }

    @Override
    public synchronized List<Event> list(String kind, String name) {
        try {
            return read(kind, name).getEventsList();
        } catch (IOException e) {
            LOG.warn("events of {} {} not read: {}", kind, name, e.toString());
            return List.of();
        }
    }

    @Override
    public synchronized void forget(String kind, String name) {
        try {
            store.delete(key(kind, name));
        } catch (IOException e) {
            LOG.warn("events of {} {} not deleted: {}", kind, name, e.toString());
        }
    }
}
