package io.panastor.bench;

import io.panastor.engine.bdev.BdevUri;
import io.panastor.engine.nvmf.host.NvmfUri;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Target names as a table shows them: {@code 127.0.0.1:4420/...:serve} for an NVMe/TCP
 * subsystem (host, port and the NQN's last part, plus {@code ns N} and digests when set),
 * the end of a long path, other URIs without their parameters. Names that would
 * look alike stay in full. JSON keeps the full names.
 */
final class TargetNames {
    /** Widest name a table gives a target. */
    static final int MAX_WIDTH = 40;

    private TargetNames() {
    }

    /** One short name per target, in order; targets that would share a short name keep their own text. */
    static List<String> shorten(List<String> targets) {
        Map<String, Set<String>> owners = new HashMap<>();
        for (String t : targets) {
            owners.computeIfAbsent(shorten(t), k -> new HashSet<>()).add(t);
        }
        List<String> names = new ArrayList<>(targets.size());
        for (String t : targets) {
            String s = shorten(t);
            names.add(owners.get(s).size() == 1 ? s : t);
        }
        return names;
    }

    static String shorten(String target) {
        BdevUri u;
        try {
            u = BdevUri.parse(target);
        } catch (RuntimeException e) {
            return tail(target);
        }
        if (u.scheme().startsWith("nvmf")) {
            NvmfUri n;
            try {
                n = NvmfUri.of(u);
            } catch (RuntimeException e) {
                return tail(target);
            }
            String nqn = n.nqn();
            int colon = nqn.lastIndexOf(':');
            String tail = nqn.length() <= 16 ? nqn : colon >= 0 && colon < nqn.length() - 1 ? "..." + nqn.substring(colon)
                    : "..." + nqn.substring(nqn.length() - 12);
            return n.host() + ":" + n.port() + "/" + tail + (n.nsid() != 1 ? " ns " + n.nsid() : "")
                    + (n.headerDigest() || n.dataDigest() ? " " + (n.headerDigest() ? "H" : "") + (n.dataDigest() ? "D" : "")
                    + "DGST" : "");
        }
        if (!target.contains("://")) {
            return tail(target);
        }
        int query = target.indexOf('?');
        return tail(query < 0 ? target : target.substring(0, query));
    }

    /** {@code text}, or its end after an ellipsis when it is wider than {@link #MAX_WIDTH}. */
    private static String tail(String text) {
        return text.length() <= MAX_WIDTH ? text : "..." + text.substring(text.length() - (MAX_WIDTH - 3));
    }
}
