module bench.example/cold169

go 1.21
