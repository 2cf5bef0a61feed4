module bench.example/cold162

go 1.21
