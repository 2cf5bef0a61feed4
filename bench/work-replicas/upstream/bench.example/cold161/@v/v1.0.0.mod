module bench.example/cold161

go 1.21
