// Real HTTP to a real service: an action (with its audit row, inline tasks,
// a summary recomputed) can take seconds, not the 1 s findBy/waitFor wait by
// default.
import { configure } from "@testing-library/react-native";

configure({ asyncUtilTimeout: 15000 });
