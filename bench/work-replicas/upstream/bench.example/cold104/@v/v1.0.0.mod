module bench.example/cold104

go 1.21
